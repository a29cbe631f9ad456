#include "status.h"

const char *drip_status_name(int status)
{
    switch (status) {
    case DRIP_OK: return "ok";
    case DRIP_EINTERNAL: return "internal";
    case DRIP_EBADMSG: return "bad_message";
    case DRIP_ETOOLARGE: return "too_large";
    case DRIP_EMISSING: return "missing_field";
    case DRIP_EUSCC: return "bad_uscc";
    case DRIP_EREGION: return "bad_region";
    case DRIP_EDATE: return "bad_date";
    case DRIP_EENUM: return "bad_enum";
    case DRIP_EVALUE: return "bad_value";
    case DRIP_EDEPT: return "unknown_dept";
    case DRIP_EFORBIDDEN: return "forbidden";
    case DRIP_ENOTFOUND: return "not_found";
    case DRIP_ECONFLICT: return "conflict";
    case DRIP_EENVELOPE: return "bad_envelope";
    case DRIP_EREFERENCE: return "unknown_reference";
    case DRIP_EIO: return "io";
    case DRIP_ETIMEOUT: return "timeout";
    case DRIP_ENOMEM: return "no_memory";
    case DRIP_EAGAIN: return "again";
    }
    return "unknown";
}

int drip_status_to_wire(int status)
{
    if (status <= 0 && status >= DRIP_EREFERENCE) return -status;
    return 1;
}
