/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A helper that says "ready" and dies at once, as if it crashed after
 * making its namespaces: the module must fail cleanly, not join a
 * vanished process or hang. It speaks the first half of the protocol
 * ("M", then the module's "C" line) as the real one does. */
#include <unistd.h>

int main(void)
{
	char c = 0;

	(void)!write(3, "M\n", 2);
	while (c != '\n' && read(3, &c, 1) == 1)
		;
	(void)!write(3, "R\n", 2);
	return 0;
}
