/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A helper that says "ready" and dies at once, as if it crashed after
 * making its namespaces: the module must fail cleanly, not join a
 * vanished process or hang. */
#include <unistd.h>

int main(void)
{
	(void)!write(3, "R\n", 2);
	return 0;
}
