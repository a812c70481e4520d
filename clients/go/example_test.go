package sessiond_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"sessiond"
)

func ExampleNewClient() {
	ctx := context.Background()
	c := sessiond.NewClient("http://127.0.0.1:8080",
		sessiond.WithToken("secret"), sessiond.WithTimeout(time.Second))

	s, err := c.Create(ctx, sessiond.CreateOptions{TTL: 3600, User: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.SetKey(ctx, s.ID, "cart", sessiond.Value([]int{1, 2})); err != nil {
		log.Fatal(err)
	}
	s, err = c.Get(ctx, s.ID)
	switch {
	case errors.Is(err, sessiond.ErrNotFound):
		fmt.Println("logged out")
	case errors.Is(err, sessiond.ErrUnavailable):
		fmt.Println("try again later")
	case err == nil:
		fmt.Println(string(s.Data["cart"]), s.ETag)
	}
}
