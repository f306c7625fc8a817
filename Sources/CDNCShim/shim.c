#include "dnc_shim.h"
