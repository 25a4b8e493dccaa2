package web_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"

	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/web"
)

// Serve the viewer for a store file, as "bodytap ui" does: refuse an
// address other machines can reach unless there is a token, print the
// address to open, and stop cleanly on Ctrl-C.
func Example() {
	addr, token := "127.0.0.1:7777", os.Getenv("BODYTAP_UI_TOKEN")
	if err := web.CheckBind(addr, token); err != nil {
		log.Fatal(err) // says why, and what to do instead
	}
	st, err := store.Open("bodytap.db", store.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
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
