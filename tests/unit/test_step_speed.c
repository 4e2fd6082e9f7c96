/* The step speed table (domain/engine/step_speed.h): every leaf a replica notes keeps its
 * speed. The engine's direct-mapped table it replaces (256 slots by address) forgot a step
 * measured long whenever another step's leaf fell on its slot, which the heap layout decided
 * and which a catalogue of more than 256 leaves made certain: the replica then took a known
 * long step for an unknown one and kept the processes it held waiting behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "domain/engine/step_speed.h"

/* Keys are never dereferenced: addresses 4 KiB apart, as leaves of workflows allocated
 * apart may be. All of them fell on one slot of the old table ((addr >> 4) % 256). */
static const void *key(size_t k)
{
    return (const void *)(uintptr_t)(0x7f0000001000u + k * 4096u);
}

static void every_key_is_remembered(void **state)
{
    orch_step_speeds_t *t = orch_step_speeds_new(300);
    (void)state;
    for (size_t k = 0; k < 300; k++)
        orch_step_speeds_note(t, key(k), (int64_t)(k * 1000 + 7));
    for (size_t k = 0; k < 300; k++)
        assert_int_equal(orch_step_speeds_get(t, key(k)), (int64_t)(k * 1000 + 7));
    assert_int_equal(orch_step_speeds_get(t, key(300)), -1);
    assert_int_equal(orch_step_speeds_get(t, key(100000)), -1);
    orch_step_speeds_free(t);
}

static void a_run_replaces_the_last(void **state)
{
    orch_step_speeds_t *t = orch_step_speeds_new(4);
    (void)state;
    assert_int_equal(orch_step_speeds_get(t, key(1)), -1);
    orch_step_speeds_note(t, key(1), 6000000);
    orch_step_speeds_note(t, key(2), 12);
    orch_step_speeds_note(t, key(1), 40);
    assert_int_equal(orch_step_speeds_get(t, key(1)), 40);
    assert_int_equal(orch_step_speeds_get(t, key(2)), 12);
    orch_step_speeds_free(t);
}

/* Past what it was sized for (64 slots for 4 keys): never another key's speed, and the key
 * noted last is there. */
static void overfull_never_mixes_keys(void **state)
{
    orch_step_speeds_t *t = orch_step_speeds_new(4);
    (void)state;
    for (size_t k = 0; k < 500; k++) {
        int64_t us;
        orch_step_speeds_note(t, key(k), (int64_t)k);
        assert_int_equal(orch_step_speeds_get(t, key(k)), (int64_t)k);
        for (size_t j = 0; j <= k; j += 7) {
            us = orch_step_speeds_get(t, key(j));
            assert_true(us == -1 || us == (int64_t)j);
        }
    }
    orch_step_speeds_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_key_is_remembered),
        cmocka_unit_test(a_run_replaces_the_last),
        cmocka_unit_test(overfull_never_mixes_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
