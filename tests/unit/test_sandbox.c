/*
 * The sandbox's allow-lists, each tried in a child process: a call a role needs goes
 * through, a call it does not need ends the child with status 128 + SIGSYS and one line that
 * names the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "sandbox.h"
#include "test_util.h"

#define VIOLATION_STATUS (128 + SIGSYS)

/* Runs body in a child confined to roles[0..n); returns its exit status, stderr in err. */
static int run_confined(const enum sandbox_role *roles, int n, int (*body)(void), char *err,
			size_t errlen)
{
	int pipefd[2], status;
	ssize_t got;
	pid_t pid;

#ifdef KVMBOX_SANITIZE
	/* The sanitizers' runtimes make calls the lists leave out; kvmbox runs them unconfined. */
	skip();
#endif
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		if (sandbox_prepare(NULL) < 0)
			_exit(90);
		for (int i = 0; i < n; i++)
			if (sandbox_enter(roles[i]) < 0)
				_exit(91);
		_exit(body());
	}
	close(pipefd[1]);
	got = read(pipefd[0], err, errlen - 1);
	err[got > 0 ? got : 0] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* role: the list body runs under; SANDBOX_NR_ROLES: body enters the sandbox itself. */
static void expect_allowed(enum sandbox_role role, int (*body)(void))
{
	char err[512];
	int status = run_confined(&role, role == SANDBOX_NR_ROLES ? 0 : 1, body, err, sizeof(err));

	if (status != 0)
		fail_msg("%s list: status %d, stderr: %s", sandbox_role_name(role), status, err);
}

static void expect_violation(const enum sandbox_role *roles, int n, int (*body)(void),
			     const char *syscall_name)
{
	char err[512], needle[64];

	assert_int_equal(run_confined(roles, n, body, err, sizeof(err)), VIOLATION_STATUS);
	snprintf(needle, sizeof(needle), "made system call %s (", syscall_name);
	if (!strstr(err, needle) || !strstr(err, "kvmbox: sandbox: thread "))
		fail_msg("report \"%s\" does not name %s", err, syscall_name);
}

/* What an I/O thread does: disk I/O, flush, eventfd signalling, entropy, malloc. */
static int io_work(void)
{
	char path[TEST_TEMP_PATH_MAX], buf[4096];
	int fd, efd;
	uint64_t one = 1;
	struct iovec iov = {buf, sizeof(buf)};
	void *big;

	test_write_temp_file(path, "", 0);
	fd = open(path, O_RDWR);
	efd = eventfd(0, 0);
	unlink(path);
	if (fd < 0 || efd < 0)
		return 10;
	/* As in kvmbox: the I/O thread's filter stacks on that of the vCPU that started it. */
	if (sandbox_enter(SANDBOX_VCPU) < 0 || sandbox_enter(SANDBOX_IO) < 0)
		return 11;
	memset(buf, 0x5a, sizeof(buf));
	if (pwritev(fd, &iov, 1, 8192) != (ssize_t)sizeof(buf) || fdatasync(fd) < 0)
		return 12;
	if (preadv(fd, &iov, 1, 0) != (ssize_t)sizeof(buf) || buf[0] != 0)
		return 13;
	if (write(efd, &one, sizeof(one)) != sizeof(one) || read(efd, &one, 8) != 8)
		return 14;
	if (getrandom(buf, 64, 0) != 64)
		return 15;
	big = malloc(4 << 20); /* mmap'd by malloc: allowed without PROT_EXEC */
	if (!big)
		return 16;
	memset(big, 1, 4 << 20);
	free(big);
	return 0;
}

static int make_socket(void)
{
	return socket(AF_UNIX, SOCK_DGRAM, 0) >= 0 ? 0 : 20;
}

static int make_eventfd(void)
{
	return eventfd(0, 0) >= 0 ? 0 : 21;
}

static int open_for_writing(void)
{
	return open("/dev/null", O_WRONLY) >= 0 ? 0 : 22;
}

static int open_read_only(void)
{
	return open("/dev/null", O_RDONLY) >= 0 ? 0 : 23;
}

static int map_executable(void)
{
	return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
		       MAP_FAILED
		   ? 0
		   : 24;
}

static int fork_a_process(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return pid > 0 ? 0 : 25;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int thread_round_trip(void)
{
	pthread_t t;
	void *ret = NULL;

	if (pthread_create(&t, NULL, thread_fn, (void *)1) != 0 || pthread_join(t, &ret) != 0)
		return 26;
	return ret == (void *)1 ? 0 : 27;
}

/*
 * A vCPU thread starts I/O threads (glibc: clone3 refused with ENOSYS, then clone). The
 * first thread of a process is made unconfined, as kvmbox's vCPUs are: glibc installs its
 * cancellation handler then.
 */
static int start_a_thread(void)
{
	int r = thread_round_trip();

	if (r == 0 && sandbox_enter(SANDBOX_VCPU) < 0)
		return 11;
	return r ? r : thread_round_trip();
}

static int signal_another_process(void)
{
	/* Signal 0 to init: the filter must refuse it before the kernel looks at it. */
	return syscall(SYS_tgkill, 1, 1, 0) == 0 ? 0 : 29;
}

static int exec_a_shell(void)
{
	char *argv[] = {"/bin/sh", "-c", "true", NULL};

	execv(argv[0], argv);
	return 28;
}

static void test_sandbox__io_list_allows_what_io_threads_do(void **state)
{
	(void)state;
	expect_allowed(SANDBOX_NR_ROLES, io_work); /* io_work sets up, then enters */
}

static void test_sandbox__io_list_refuses_a_socket(void **state)
{
	enum sandbox_role r[] = {SANDBOX_IO};

	(void)state;
	expect_violation(r, 1, make_socket, "socket");
}

static void test_sandbox__io_filter_stacks_on_the_vcpu_filter(void **state)
{
	enum sandbox_role r[] = {SANDBOX_VCPU, SANDBOX_IO};

	(void)state;
	expect_allowed(SANDBOX_VCPU, make_eventfd);
	expect_violation(r, 2, make_eventfd, "eventfd2");
}

static void test_sandbox__vcpu_list_starts_threads_but_never_processes(void **state)
{
	enum sandbox_role r[] = {SANDBOX_VCPU};

	(void)state;
	expect_allowed(SANDBOX_NR_ROLES, start_a_thread);
	expect_violation(r, 1, fork_a_process, "clone");
	expect_violation(r, 1, signal_another_process, "tgkill");
}

static void test_sandbox__no_list_maps_executable_memory(void **state)
{
	enum sandbox_role r[] = {SANDBOX_MAIN};

	(void)state;
	expect_violation(r, 1, map_executable, "mmap");
}

static void test_sandbox__main_list_opens_read_only_only(void **state)
{
	enum sandbox_role r[] = {SANDBOX_MAIN};

	(void)state;
	expect_allowed(SANDBOX_MAIN, open_read_only);
	expect_violation(r, 1, open_for_writing, "openat");
}

static void test_sandbox__main_list_refuses_exec_and_sockets(void **state)
{
	enum sandbox_role r[] = {SANDBOX_MAIN};

	(void)state;
	expect_violation(r, 1, exec_a_shell, "execve");
	expect_violation(r, 1, make_socket, "socket");
}

static void test_sandbox__unprepared_sandbox_confines_nothing(void **state)
{
	(void)state;
	/* This process never called sandbox_prepare: entering is a no-op. */
	assert_false(sandbox_enabled());
	assert_int_equal(sandbox_enter(SANDBOX_IO), 0);
	assert_int_equal(make_socket(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sandbox__io_list_allows_what_io_threads_do),
	    cmocka_unit_test(test_sandbox__io_list_refuses_a_socket),
	    cmocka_unit_test(test_sandbox__io_filter_stacks_on_the_vcpu_filter),
	    cmocka_unit_test(test_sandbox__vcpu_list_starts_threads_but_never_processes),
	    cmocka_unit_test(test_sandbox__no_list_maps_executable_memory),
	    cmocka_unit_test(test_sandbox__main_list_opens_read_only_only),
	    cmocka_unit_test(test_sandbox__main_list_refuses_exec_and_sockets),
	    cmocka_unit_test(test_sandbox__unprepared_sandbox_confines_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
