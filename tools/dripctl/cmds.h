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

/* plan_cmd.c */
int plan_cmd_create(ctl_ctx *c, int argc, char **argv);
int plan_cmd_show(ctl_ctx *c, int argc, char **argv);
int plan_cmd_publish(ctl_ctx *c, int argc, char **argv);
int plan_cmd_adjust(ctl_ctx *c, int argc, char **argv);
int plan_cmd_list(ctl_ctx *c, int argc, char **argv);
int plan_cmd_load(ctl_ctx *c, int argc, char **argv);
void plan_cmd_help(FILE *f, const char *verb);

/* task_cmd.c */
int task_cmd_create(ctl_ctx *c, int argc, char **argv);
int task_cmd_show(ctl_ctx *c, int argc, char **argv);
int task_cmd_publish(ctl_ctx *c, int argc, char **argv);
int task_cmd_adjust(ctl_ctx *c, int argc, char **argv);
int task_cmd_cancel(ctl_ctx *c, int argc, char **argv);
int task_cmd_draw(ctl_ctx *c, int argc, char **argv);
void task_cmd_help(FILE *f, const char *verb);

/* draw_cmd.c */
int draw_cmd_show(ctl_ctx *c, int argc, char **argv);
int draw_cmd_population(ctl_ctx *c, int argc, char **argv);
int draw_cmd_verify(ctl_ctx *c, int argc, char **argv);
void draw_cmd_help(FILE *f, const char *verb);

/* match_cmd.c */
int match_cmd_show(ctl_ctx *c, int argc, char **argv);
int match_cmd_pool(ctl_ctx *c, int argc, char **argv);
int match_cmd_report(ctl_ctx *c, int argc, char **argv);
int match_cmd_verify(ctl_ctx *c, int argc, char **argv);
int match_cmd_assign(ctl_ctx *c, int argc, char **argv);
void match_cmd_help(FILE *f, const char *verb);

/* confirm_cmd.c (a single-word command: argv[0] = "confirm") */
int confirm_cmd(ctl_ctx *c, int argc, char **argv);
void confirm_cmd_help(FILE *f);

#endif
