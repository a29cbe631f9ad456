/* gen.h — `dripctl gen`: synthetic but realistic directory data (enterprises, inspectors, items)
 * as CSV, streamed with constant memory and reproducible from --seed. */
#ifndef DRIPCTL_GEN_H
#define DRIPCTL_GEN_H

/* argv[0] is "gen", argv[1] the kind (enterprises | inspectors | items). Returns a process exit
 * status: 0 ok, 1 bad arguments, unreadable region table or failed write (as CTL_EXIT_USAGE). */
int dripctl_gen(int argc, char **argv);

#endif
