module github.com/bodytap/bodytap

go 1.24.0

require (
	github.com/andybalholm/brotli v1.3.0
	github.com/klauspost/compress v1.19.2
	golang.org/x/text v0.34.0
)
