/* orchestratord: the production daemon, with nothing added (server/daemon.h). The test
 * binary orchestratord-test (tests/testbin/main.c) runs the same entry with its test
 * workflows and hooks. */
#include "server/daemon.h"

int main(int argc, char **argv)
{
    return orch_daemon_main(argc, argv, NULL);
}
