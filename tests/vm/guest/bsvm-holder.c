/* A process that only waits, for the shutdown scenarios of the VM tier (tests/vm/shutdown-tests):
 * run as "exec -a @NAME bsvm-holder" from busybox sh, it is a process whose argv[0] starts
 * with '@' (a root-storage daemon, which a shutdown must never signal), something busybox's
 * own applets cannot be (they dispatch on argv[0]).  Built static on the host, so that it runs
 * from the shutdown ramfs and pins nothing on root.  Each signal it gets is said on stderr. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void said(int sig)
{
	char msg[64];
	int n = snprintf(msg, sizeof msg, "bsvm-holder %d: got signal %d\n", (int)getpid(), sig);
	if (n > 0)
		(void)!write(2, msg, (size_t)n);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = said;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (;;)
		pause();
}
