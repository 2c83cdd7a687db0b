package pgpool

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestConnLost(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the server shut the connection down", &pgconn.PgError{Code: "57P01"}, true},
		{"the server crashed", fmt.Errorf("find: %w", &pgconn.PgError{Code: "57P02"}), true},
		{"the server is starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"a statement that failed on a live connection", &pgconn.PgError{Code: "23505"}, false},
		{"a lock wait that ran out", &pgconn.PgError{Code: "55P03"}, false},
		{"any other error", errors.New("boom"), false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConnLost(tt.err); got != tt.want {
				t.Errorf("ConnLost(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
