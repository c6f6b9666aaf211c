"""runway: read runway result files (HDF5 / netCDF-4) in Python.
placeholder-to-be-replaced
"""
