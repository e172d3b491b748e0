/* Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at http://www.apache.org/licenses/LICENSE-2.0
 */

/**
 * @file  fcgix_compat.h
 * @brief mod_fastcgi and mod_fcgid directive names, in one place.
 *
 * Layer L2. Every legacy name is listed in FCGIX_COMPAT_CMDS, which
 * fcgix_conf.c splices into the module's directive table. A legacy name
 * either maps onto the native handler or, where the old syntax differs,
 * onto a translator here that builds the same native records.
 */
#ifndef FCGIX_COMPAT_H
#define FCGIX_COMPAT_H

#include "http_config.h"

/* mod_fastcgi: FastCgiExternalServer <path> -host h:p | -socket s ... */
const char *fcgix_compat_external_server(cmd_parms *cmd, void *dc, int argc,
                                         char *const argv[]);

#define FCGIX_COMPAT_FASTCGI_EXT_USAGE                                     \
    "<path> -host host:port | -socket path [-appConnTimeout s] "           \
    "[-idle-timeout s] [-pass-header Name] [-flush]"

#define FCGIX_COMPAT_CMDS                                                  \
    /* mod_fastcgi */                                                      \
    AP_INIT_TAKE_ARGV("FastCgiExternalServer",                             \
                      fcgix_compat_external_server, NULL, RSRC_CONF,       \
                      FCGIX_COMPAT_FASTCGI_EXT_USAGE),                     \
    AP_INIT_TAKE_ARGV("ExternalAppClass", fcgix_compat_external_server,    \
                      NULL, RSRC_CONF, FCGIX_COMPAT_FASTCGI_EXT_USAGE),    \
    AP_INIT_TAKE1("FastCgiIpcDir", fcgix_conf_set_ipc_dir, NULL,           \
                  RSRC_CONF, "alias of FcgixIpcDir"),                      \
    /* mod_fcgid, current and legacy names */                              \
    AP_INIT_TAKE1("FcgidMaxRequestLen", fcgix_conf_set_max_request_len,    \
                  NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,             \
                  "alias of FcgixMaxRequestLen"),                          \
    AP_INIT_TAKE1("MaxRequestLen", fcgix_conf_set_max_request_len, NULL,   \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixMaxRequestLen"),                          \
    AP_INIT_TAKE1("FcgidMaxRequestInMem",                                  \
                  fcgix_conf_set_max_request_in_mem, NULL,                 \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixMaxRequestInMem"),                        \
    AP_INIT_TAKE1("MaxRequestInMem", fcgix_conf_set_max_request_in_mem,    \
                  NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,             \
                  "alias of FcgixMaxRequestInMem"),                        \
    AP_INIT_TAKE1("FcgidPassHeader", fcgix_conf_add_pass_header, NULL,     \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixPassHeader"),                             \
    AP_INIT_TAKE1("PassHeader", fcgix_conf_add_pass_header, NULL,          \
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,                   \
                  "alias of FcgixPassHeader"),                             \
    AP_INIT_TAKE1("FcgidIOTimeout", fcgix_conf_set_io_timeout, NULL,       \
                  RSRC_CONF, "alias of FcgixIOTimeout"),                   \
    AP_INIT_TAKE1("IPCCommTimeout", fcgix_conf_set_io_timeout, NULL,       \
                  RSRC_CONF, "alias of FcgixIOTimeout"),                   \
    AP_INIT_TAKE1("FcgidConnectTimeout", fcgix_conf_set_connect_timeout,   \
                  NULL, RSRC_CONF, "alias of FcgixConnectTimeout"),        \
    AP_INIT_TAKE1("IPCConnectTimeout", fcgix_conf_set_connect_timeout,     \
                  NULL, RSRC_CONF, "alias of FcgixConnectTimeout"),

#endif /* FCGIX_COMPAT_H */
