/* cmds.h — the dripctl commands main.c dispatches to. Each gets argv with argv[0] = its verb
 * ("import", "dump"), handles --help itself, and returns a process exit status (ctl.h CTL_EXIT_*). */
#ifndef DRIPCTL_CMDS_H
#define DRIPCTL_CMDS_H

#include <stdio.h>

#include "ctl.h"

/* registry_cmd.c */
int registry_cmd_import(ctl_ctx *c, int argc, char **argv);
int registry_cmd_retire(ctl_ctx *c, int argc, char **argv);
int registry_cmd_show(ctl_ctx *c, int argc, char **argv);
int registry_cmd_count(ctl_ctx *c, int argc, char **argv);
int registry_cmd_list(ctl_ctx *c, int argc, char **argv);
void registry_cmd_help(FILE *f, const char *verb); /* verb NULL: every registry command */

/* events_cmd.c */
int events_cmd_dump(ctl_ctx *c, int argc, char **argv);
void events_cmd_help(FILE *f, const char *verb);

#endif
