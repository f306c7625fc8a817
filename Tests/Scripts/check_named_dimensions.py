"""Opens every group of the given HDF5 files that holds data with xarray (h5netcdf engine), as
a netCDF reader would, and checks that every axis of every dataset is a named dimension (no
xarray "phony_dim_*" names). Prints, as JSON, per file and group the dimensions of each
variable, its dtype and its attributes that describe positions, for the Swift test to compare.

Usage: python3 check_named_dimensions.py FILE...
"""
import json
import sys

import h5py
import xarray as xr


def data_groups(path):
    """Groups holding at least one dataset that is not a dimension scale."""
    found = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Group) and any(
                    isinstance(child, h5py.Dataset) and child.attrs.get("CLASS") != b"DIMENSION_SCALE"
                    for child in obj.values()):
                found.append(name)
        if any(isinstance(c, h5py.Dataset) for c in f.values()):
            found.append("/")
        f.visititems(visit)
    return found


def main(paths):
    out = {}
    for path in paths:
        groups = {}
        for group in data_groups(path):
            with xr.open_dataset(path, group=group, engine="h5netcdf") as ds:
                variables = {}
                for name, variable in ds.variables.items():
                    phony = [d for d in variable.dims if d.startswith("phony_dim")]
                    assert not phony, f"{path}:{group}/{name} has unnamed axes {variable.dims}"
                    entry = {"dims": list(variable.dims), "dtype": str(variable.dtype)}
                    if "empty_position" in variable.attrs:
                        entry["empty_position"] = int(variable.attrs["empty_position"])
                    variables[name] = entry
                groups[group] = variables
        out[path] = groups
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
