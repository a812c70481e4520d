module sessiond

go 1.19
