-- GET of the URL given on the command line.
dofile("report.lua")
