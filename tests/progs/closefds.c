/* closefds: uses the heap, closes every descriptor above 2 (as daemons and
 * subprocess children before exec do), then keeps using the heap. Prints a
 * checksum; must behave exactly as natively. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static unsigned long long use(size_t mib, int seed)
{
	unsigned char *p = malloc(mib << 20);
	unsigned long long sum = 0;
	for (size_t i = 0; i < mib << 20; i += 4096)
		p[i] = (unsigned char)(seed + i / 4096);
	for (size_t i = 0; i < mib << 20; i += 4096)
		sum += p[i];
	return sum;
}

int main(void)
{
	unsigned long long a = use(16, 1);
	syscall(SYS_close_range, 3u, ~0u, 0u);
	usleep(20000); /* let the emulator notice */
	unsigned long long b = use(16, 2);
	printf("%llu %llu\n", a, b);
	return 0;
}
