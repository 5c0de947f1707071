#include "constants.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <sys/uio.h>
#include <termios.h>
#include <time.h>

#include "cleanup.h"

/* glibc names only MAP_HUGE_SHIFT; the kernel's linux/mman.h has the sizes. */
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#if !defined(__x86_64__)
#error "this build provides the constant table for x86_64 only"
#endif

struct named_const {
	const char *name;
	int64_t value;
};

#define C(x) { #x, (int64_t)(x) }

/* Sorted by family, not by name: lookups are linear and run only while a
 * policy is loaded, never on a syscall path. */
static const struct named_const table_x86_64[] = {
	/* KVM ioctls on /dev/kvm, the VM fd and the vCPU fds */
	C(KVM_GET_API_VERSION), C(KVM_CREATE_VM), C(KVM_CHECK_EXTENSION), C(KVM_GET_VCPU_MMAP_SIZE),
	C(KVM_GET_SUPPORTED_CPUID), C(KVM_GET_EMULATED_CPUID), C(KVM_GET_MSR_INDEX_LIST),
	C(KVM_GET_MSR_FEATURE_INDEX_LIST), C(KVM_CREATE_VCPU), C(KVM_SET_USER_MEMORY_REGION),
	C(KVM_SET_TSS_ADDR), C(KVM_SET_IDENTITY_MAP_ADDR), C(KVM_CREATE_IRQCHIP), C(KVM_CREATE_PIT2),
	C(KVM_GET_PIT2), C(KVM_SET_PIT2), C(KVM_GET_IRQCHIP), C(KVM_SET_IRQCHIP), C(KVM_IRQFD),
	C(KVM_IOEVENTFD), C(KVM_IRQ_LINE), C(KVM_IRQ_LINE_STATUS), C(KVM_SIGNAL_MSI), C(KVM_ENABLE_CAP),
	C(KVM_SET_GSI_ROUTING), C(KVM_GET_CLOCK), C(KVM_SET_CLOCK), C(KVM_GET_DIRTY_LOG), C(KVM_RUN),
	C(KVM_GET_REGS), C(KVM_SET_REGS), C(KVM_GET_SREGS), C(KVM_SET_SREGS), C(KVM_GET_FPU),
	C(KVM_SET_FPU), C(KVM_GET_CPUID2), C(KVM_SET_CPUID2), C(KVM_GET_MSRS), C(KVM_SET_MSRS),
	C(KVM_GET_LAPIC), C(KVM_SET_LAPIC), C(KVM_GET_XSAVE), C(KVM_SET_XSAVE), C(KVM_GET_XCRS),
	C(KVM_SET_XCRS), C(KVM_GET_DEBUGREGS), C(KVM_SET_DEBUGREGS), C(KVM_GET_VCPU_EVENTS),
	C(KVM_SET_VCPU_EVENTS), C(KVM_GET_MP_STATE), C(KVM_SET_MP_STATE), C(KVM_TRANSLATE),
	C(KVM_INTERRUPT), C(KVM_NMI), C(KVM_KVMCLOCK_CTRL), C(KVM_GET_TSC_KHZ), C(KVM_SET_TSC_KHZ),
	C(KVM_SET_SIGNAL_MASK), C(KVM_SET_GUEST_DEBUG), C(KVM_X86_SETUP_MCE),
	C(KVM_X86_GET_MCE_CAP_SUPPORTED), C(KVM_GET_ONE_REG), C(KVM_SET_ONE_REG),
	/* userfaultfd ioctls (the Uffd snapshot backend, snapshot/uffd.c) */
	C(USERFAULTFD_IOC_NEW), C(UFFDIO_API), C(UFFDIO_REGISTER),
	/* TUN/TAP and terminal ioctls */
	C(TUNSETIFF), C(TUNGETIFF), C(TUNSETOFFLOAD), C(TUNSETVNETHDRSZ), C(TUNGETFEATURES), C(SIOCGIFINDEX),
	C(TCGETS), C(TCSETS), C(TCSETSW), C(TIOCGWINSZ), C(FIONBIO), C(FIONREAD), C(FIOCLEX),
	/* mmap, mprotect, mremap, madvise */
	C(PROT_NONE), C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC), C(MAP_SHARED), C(MAP_PRIVATE),
	C(MAP_FIXED), C(MAP_ANONYMOUS), C(MAP_NORESERVE), C(MAP_POPULATE), C(MAP_STACK),
	C(MAP_HUGETLB), C(MAP_HUGE_2MB), C(MAP_GROWSDOWN), C(MAP_FIXED_NOREPLACE), C(MREMAP_MAYMOVE), C(MREMAP_FIXED),
	C(MADV_NORMAL), C(MADV_DONTNEED), C(MADV_FREE), C(MADV_REMOVE), C(MADV_DONTFORK),
	C(MADV_MERGEABLE), C(MADV_HUGEPAGE), C(MADV_NOHUGEPAGE), C(MADV_DONTDUMP), C(MFD_CLOEXEC),
	C(MFD_ALLOW_SEALING),
	/* futex */
	C(FUTEX_WAIT), C(FUTEX_WAKE), C(FUTEX_REQUEUE), C(FUTEX_CMP_REQUEUE), C(FUTEX_WAKE_OP),
	C(FUTEX_LOCK_PI), C(FUTEX_UNLOCK_PI), C(FUTEX_TRYLOCK_PI), C(FUTEX_WAIT_BITSET),
	C(FUTEX_WAKE_BITSET), C(FUTEX_PRIVATE_FLAG), C(FUTEX_CLOCK_REALTIME), C(FUTEX_WAIT_PRIVATE),
	C(FUTEX_WAKE_PRIVATE), C(FUTEX_REQUEUE_PRIVATE), C(FUTEX_CMP_REQUEUE_PRIVATE),
	C(FUTEX_WAKE_OP_PRIVATE), C(FUTEX_WAIT_BITSET_PRIVATE), C(FUTEX_WAKE_BITSET_PRIVATE),
	C(FUTEX_LOCK_PI_PRIVATE), C(FUTEX_UNLOCK_PI_PRIVATE),
	/* fcntl commands and open flags */
	C(F_DUPFD), C(F_DUPFD_CLOEXEC), C(F_GETFD), C(F_SETFD), C(F_GETFL), C(F_SETFL), C(F_GETLK),
	C(F_SETLK), C(F_SETLKW), C(F_OFD_GETLK), C(F_OFD_SETLK), C(F_OFD_SETLKW), C(F_ADD_SEALS),
	C(F_GET_SEALS), C(FD_CLOEXEC), C(O_RDONLY), C(O_WRONLY), C(O_RDWR), C(O_CREAT), C(O_EXCL),
	C(O_NOCTTY), C(O_TRUNC), C(O_APPEND), C(O_NONBLOCK), C(O_DSYNC), C(O_SYNC), C(O_DIRECT),
	C(O_LARGEFILE), C(O_DIRECTORY), C(O_NOFOLLOW), C(O_NOATIME), C(O_CLOEXEC), C(O_PATH),
	C(O_TMPFILE), C(AT_FDCWD), C(AT_EMPTY_PATH), C(AT_SYMLINK_NOFOLLOW),
	C(RWF_NOWAIT), /* pwritev2 flags */
	C(RENAME_NOREPLACE), /* renameat2 flags */
	C(IORING_REGISTER_FILES), /* io_uring_register opcodes */
	/* sockets */
	C(AF_UNIX), C(AF_INET), C(AF_INET6), C(AF_NETLINK), C(AF_PACKET), C(AF_VSOCK), C(SOCK_STREAM),
	C(SOCK_DGRAM), C(SOCK_SEQPACKET), C(SOCK_RAW), C(SOCK_NONBLOCK), C(SOCK_CLOEXEC),
	C(MSG_DONTWAIT), C(MSG_NOSIGNAL), C(MSG_PEEK), C(MSG_CMSG_CLOEXEC), C(MSG_TRUNC),
	C(MSG_WAITALL), C(SOL_SOCKET), C(SO_PEERCRED), C(SO_ERROR),
	/* event fds, timers, clocks, epoll */
	C(EFD_CLOEXEC), C(EFD_NONBLOCK), C(EFD_SEMAPHORE), C(TFD_CLOEXEC), C(TFD_NONBLOCK),
	C(TFD_TIMER_ABSTIME), C(EPOLL_CLOEXEC), C(EPOLL_CTL_ADD), C(EPOLL_CTL_DEL), C(EPOLL_CTL_MOD),
	C(CLOCK_REALTIME), C(CLOCK_MONOTONIC), C(CLOCK_PROCESS_CPUTIME_ID), C(CLOCK_THREAD_CPUTIME_ID),
	C(CLOCK_MONOTONIC_RAW), C(CLOCK_BOOTTIME), C(GRND_NONBLOCK), C(GRND_RANDOM),
	/* signals, prctl, seccomp, threads */
	C(SIG_BLOCK), C(SIG_UNBLOCK), C(SIG_SETMASK), C(SIGHUP), C(SIGINT), C(SIGQUIT), C(SIGILL),
	C(SIGABRT), C(SIGBUS), C(SIGFPE), C(SIGKILL), C(SIGUSR1), C(SIGSEGV), C(SIGUSR2), C(SIGPIPE),
	C(SIGALRM), C(SIGTERM), C(SIGCHLD), C(SIGXCPU), C(SIGXFSZ), C(SIGSYS),
	/* glibc's SIGRTMIN, not the kernel's 32: glibc keeps 32 and 33 for itself and
	 * SIGRTMIN is a function call, so the value is written out here. */
	{ "SIGRTMIN", 34 },
	{ "SIGSETXID", 33 }, /* glibc-internal: setuid and friends across threads */
	C(PR_SET_NAME), C(PR_GET_NAME), C(PR_SET_NO_NEW_PRIVS), C(PR_GET_NO_NEW_PRIVS),
	C(PR_SET_SECCOMP), C(PR_CAPBSET_READ), C(SECCOMP_SET_MODE_FILTER), C(SECCOMP_GET_ACTION_AVAIL),
	C(SECCOMP_FILTER_FLAG_TSYNC), C(CLONE_VM), C(CLONE_FS), C(CLONE_FILES), C(CLONE_SIGHAND),
	C(CLONE_THREAD), C(CLONE_SYSVSEM), C(CLONE_SETTLS), C(CLONE_PARENT_SETTID),
	C(CLONE_CHILD_CLEARTID), C(CLONE_NEWNS), C(CLONE_NEWCGROUP), C(CLONE_NEWUTS), C(CLONE_NEWIPC),
	C(CLONE_NEWUSER), C(CLONE_NEWPID), C(CLONE_NEWNET), C(CLONE_VFORK), C(CLONE_PARENT),
	/* errno values for `action: {errno: NAME}` */
	C(EPERM), C(ENOENT), C(EINTR), C(EIO), C(EBADF), C(EAGAIN), C(ENOMEM), C(EACCES), C(EFAULT),
	C(EBUSY), C(EEXIST), C(ENODEV), C(EINVAL), C(ENOSPC), C(ENOSYS), C(ENOTSUP), C(EOPNOTSUPP),
	C(EAFNOSUPPORT),
};

#undef C

uint32_t seccomp_const_arch(void)
{
	return AUDIT_ARCH_X86_64;
}

int seccomp_const_lookup(uint32_t arch, const char *name, int64_t *ret)
{
	if (arch != AUDIT_ARCH_X86_64)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < ARRAY_SIZE(table_x86_64); i++)
		if (strcmp(table_x86_64[i].name, name) == 0) {
			*ret = table_x86_64[i].value;
			return 0;
		}
	return -ENOENT;
}
