package web_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"

	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
	"github.com/bodytap/bodytap/web"
)

// Serve the viewer for a store, as "bodytap ui" does: a file, or the
// PostgreSQL database a fleet shares when BODYTAP_DB is a postgres:// URL.
// Refuse an address other machines can reach unless there is a token,
// print the address to open, and stop cleanly on Ctrl-C.
func Example() {
	addr, token := "127.0.0.1:7777", os.Getenv("BODYTAP_UI_TOKEN")
	if err := web.CheckBind(addr, token); err != nil {
		log.Fatal(err) // says why, and what to do instead
	}
	dsn := cmp.Or(os.Getenv("BODYTAP_DB"), "bodytap.db")
	st, err := stores.Open(context.Background(), dsn, store.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err) // names the store, its password masked
	}
	defer st.Close()
	viewer, err := web.New(web.Config{Store: st, Token: token})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/"
	if token != "" {
		u += "?token=" + token
	}
	fmt.Println("bodytap viewer:", u)

	srv := &http.Server{Handler: viewer}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		viewer.Close() // ends the live streams, which Shutdown would wait for
		srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
