// Only the protocol half of hiredis: the RESP encoder and reader. SwiftNIO owns the sockets.
#ifndef SESSIOND_CHIREDIS_SHIM_H
#define SESSIOND_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
