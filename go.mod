module github.com/bodytap/bodytap

go 1.24
