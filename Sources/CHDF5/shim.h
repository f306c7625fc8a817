#include <hdf5.h>
// Dimension scales (named dimensions for netCDF and xarray readers); in libhdf5_hl.
#include <H5DSpublic.h>
