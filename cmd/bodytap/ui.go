package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/bodytap/bodytap/internal/metrics"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
	"github.com/bodytap/bodytap/web"
)

func runUI(ctx context.Context, e *env, args []string) error {
	fs := newFlags("ui")
	db := dbFlag(fs)
	listen := fs.String("listen", "127.0.0.1:8081", "serve the viewer on this `address`")
	token := fs.String("token", "", "`secret` the viewer asks for; required when --listen is not a loopback address")
	pos, err := parse(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := checkUIBind(*listen, *token); err != nil {
		return err
	}
	st, err := openStore(ctx, *db, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	ln, err := listenUI("--listen", *listen)
	if err != nil {
		return err
	}
	m := metricsHandler(*token, func() []metrics.Family { return storeFamilies(st, *db) })
	ui, err := serveUI(ln, *token, st, logger, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "bodytap ui: viewing %s at %s\n", dbName(*db), ui.url)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return ui.shutdown(sctx)
}

// checkUIBind refuses to serve the viewer beyond loopback without a
// token, whatever the store: a local file or a database the fleet shares.
func checkUIBind(addr, token string) error {
	if err := web.CheckBind(addr, token); err != nil {
		return usagef("--ui/--listen %s: %v", addr, oneLine(err))
	}
	return nil
}

// uiServer is a running viewer.
type uiServer struct {
	srv    *http.Server
	viewer *web.Server
	url    string // to open, with the token if there is one
}

// listenUI listens on the viewer's address, given by flag. The proxy does
// so before it starts, so that a taken address stops it at once.
func listenUI(flag, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", flag, addr, errors.Unwrap(err))
	}
	return ln, nil
}

// serveUI serves the viewer for st on ln, which it closes on error, and
// /metrics with m unless it is nil.
func serveUI(ln net.Listener, token string, st stores.Store, logger *slog.Logger, m http.Handler) (*uiServer, error) {
	viewer, err := web.New(web.Config{Store: st, Token: token, Logger: logger})
	if err != nil {
		ln.Close()
		return nil, err
	}
	ui := &uiServer{
		srv:    &http.Server{Handler: withMetrics(viewer, m), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		viewer: viewer,
		url:    "http://" + ln.Addr().String() + "/",
	}
	if token != "" {
		ui.url += "?token=" + url.QueryEscape(token)
	}
	go ui.srv.Serve(ln)
	return ui, nil
}

// shutdown ends the live streams (which Shutdown would wait for), then
// the server.
func (ui *uiServer) shutdown(ctx context.Context) error {
	ui.viewer.Close()
	return ui.srv.Shutdown(ctx)
}
