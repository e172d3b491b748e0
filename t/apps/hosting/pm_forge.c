/*
 * t/072_hosting_root.t: what a process running as httpd's User (an httpd
 * child, or any application spawned without a suexec identity, or a CGI)
 * can ask of mod_fcgix's process manager.  The PM's control socket
 * (<FcgixIpcDir>/pm.sock, 0600, httpd's User) takes fcgix_pm_msg_t
 * datagrams; this sends one SPAWN message for a class of its choosing:
 *
 *   pm_forge <pm.sock> <uid> <gid> <command line>
 *
 * The class keeps one process running (prespawn, like FastCgiServer) with
 * no suexec flag, restarts after an hour at the earliest.  Built by the
 * test with the module's own headers, so the layout always matches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fcgix_pm.h"

int main(int argc, char **argv)
{
    fcgix_pm_msg_t m;
    struct sockaddr_un sa;
    int fd;

    if (argc != 5) {
        fprintf(stderr, "usage: %s pm.sock uid gid 'command line'\n", argv[0]);
        return 2;
    }
    memset(&m, 0, sizeof(m));
    m.type = FCGIX_PM_MSG_SPAWN;
    m.key = 0x666f7267656421ULL ^ (unsigned long long)getpid();
    m.uid = (apr_uint32_t)strtoul(argv[2], NULL, 10);
    m.gid = (apr_uint32_t)strtoul(argv[3], NULL, 10);
    m.lim.min_procs = m.lim.max_procs = 1;
    m.lim.prespawn = 1;
    m.lim.restart_delay = 3600;
    m.lim.flags = FCGIX_SPAWN_CMDLINE;
    m.lim.rlim[0][0] = m.lim.rlim[0][1] = -1;
    m.lim.rlim[1][0] = m.lim.rlim[1][1] = -1;
    m.lim.rlim[2][0] = m.lim.rlim[2][1] = -1;
    snprintf(m.path, sizeof(m.path), "%s", argv[4]);

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
    if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0
        || sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&sa,
                  sizeof(sa)) != (ssize_t)sizeof(m)) {
        perror("pm_forge");
        return 1;
    }
    printf("sent %zu bytes\n", sizeof(m));
    return 0;
}
