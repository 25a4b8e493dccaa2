// Package browsertest drives the viewer of package web in a real headless
// Chromium (Debian package chromium) through chromedp. It is a module of
// its own, so that the main module's go.mod lists only what bodytap's
// users import; it has tests only.
package browsertest
