/* status.h — drip's status codes: every fallible function returns one (0 = ok, negative = error).
 * The numbers double as the ErrorCode values of proto/drip/common.proto (negated). */
#ifndef DRIP_STATUS_H
#define DRIP_STATUS_H

typedef enum {
    DRIP_OK = 0,
    DRIP_EINTERNAL = -1,
    DRIP_EBADMSG = -2,
    DRIP_ETOOLARGE = -3,
    DRIP_EMISSING = -4,
    DRIP_EUSCC = -5,
    DRIP_EREGION = -6,
    DRIP_EDATE = -7,
    DRIP_EENUM = -8,
    DRIP_EVALUE = -9,
    DRIP_EDEPT = -10,
    DRIP_EFORBIDDEN = -11,
    DRIP_ENOTFOUND = -12,
    DRIP_ECONFLICT = -13,
    DRIP_EENVELOPE = -14,
    DRIP_EREFERENCE = -15,
    /* below: local conditions that never travel in a reply */
    DRIP_EIO = -100,      /* network / database unreachable: retry */
    DRIP_ETIMEOUT = -101,
    DRIP_ENOMEM = -102,
    DRIP_EAGAIN = -103,   /* transient (deadlock, serialization failure): retry the transaction */
} drip_status;

/* Short stable name of a status, e.g. "bad_uscc". Never NULL. */
const char *drip_status_name(int status);

/* ErrorCode (proto) value of a status: -status for the wire codes, 1 (internal) otherwise. */
int drip_status_to_wire(int status);

#endif
