package middleware_test

import (
	"fmt"
	"log"
	"net/http"

	"sessiond"
	"sessiond/middleware"
)

func ExampleNew() {
	c := sessiond.NewClient("unix:///run/sessiond/sessiond.sock")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := middleware.FromContext(r.Context())
		var visits int
		s.Decode("visits", &visits)
		s.SetValue("visits", visits+1)
		fmt.Fprintf(w, "visit %d\n", visits+1)
	})
	log.Fatal(http.ListenAndServe(":8000", middleware.New(c, middleware.Options{Secure: true})(mux)))
}
