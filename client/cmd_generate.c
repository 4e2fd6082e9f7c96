/* orchctl generate product: the generator (generate.h) on the command line. */
#include "cmd.h"
#include "generate.h"

int cli_cmd_generate_product(cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *root = cli_args_get(args, "root");
    int rc;
    (void)ctx;
    rc = cli_generate_product(args->pos[0], root && *root ? root : ".",
                              cli_args_get(args, "dry-run") != NULL, stdout, stderr);
    return rc == 2 ? CLI_EXIT_USAGE : rc ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
