package web

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/data"
)

// Checkout places an order exactly once per cart.
//
// A checkout writes twice: the order into the database, then the session
// (cart emptied, order remembered) when the response goes out. The two
// cannot share a transaction (the session store may not even be this
// database), so the first can succeed and the second fail: the visitor gets
// a 500 with the cart still full, while the order exists. So the session
// keeps a checkout key with the cart, a random value made when the cart
// first gets an item (and so already saved when the checkout runs), and the
// order is stored under that key, which orders.checkout_key holds UNIQUE.
// Tried again, the checkout finds the order its key placed and shows it.
// Once the session knows the order, the key is replaced by a new one.
//
// A key names one cart through its order's lines, not through every change
// of the cart: replacing the key when the cart changes would forget the key
// of a checkout whose answer was lost, and its order would never be found
// again. Instead, a checkout whose key placed an order for other items than
// the cart holds now is refused, after the session learns of that order.
// And the checkout form carries the key and the cart it showed: a form sent
// twice (a double click) lands on the order it placed, and a form shown
// before the cart changed (in another tab) orders nothing.

// maxOrderIDs is how many order ids a session keeps: the newest ones.
// Older orders stay in the database, but the session that placed them no
// longer reaches them: /orders/{id} answers 404 for them, as to any other
// session. Without a bound, orderIds would grow by one id per checkout and
// be read and written with the session on every request.
const maxOrderIDs = 10

// checkoutForm is what the cart page's checkout form sends besides the
// session cookie.
type checkoutForm struct {
	Key  string // the session's checkout key
	Cart string // cartFingerprint of the cart the page shows
}

// handleCheckout turns the cart into an order. The order is database data:
// it goes into the orders tables, where it outlives the session. The session
// only remembers that the visitor bought something.
//
// The form fields checkout_key and cart are optional, so that a bare
// POST /checkout (curl) checks out the session's cart.
func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	if sent := r.PostForm.Get("checkout_key"); sent != "" && sent != s.sessions.GetString(ctx, keyCheckoutKey) {
		s.checkoutFormUsed(w, r, sent)
		return
	}
	chosen := s.chosenIngredients(ctx)
	if len(chosen) == 0 {
		s.clientError(w, r, http.StatusUnprocessableEntity, "Your cart is empty: add an ingredient before checking out.")
		return
	}
	if sent := r.PostForm.Get("cart"); sent != "" && sent != cartFingerprint(chosen) {
		s.clientError(w, r, http.StatusConflict,
			"Your cart has changed since this page was shown, so nothing was ordered. Check your cart and check out again.")
		return
	}

	items := make([]data.OrderItem, len(chosen))
	for i, it := range chosen {
		items[i] = data.OrderItem{IngredientID: it.ID, Qty: it.Qty}
	}
	order := data.NewOrder{
		// Made here only for a cart that reached the session without one
		// (/session-example, or a session saved before there were keys).
		Key:   s.checkoutKey(ctx),
		Items: items,
	}
	if user := currentUserFrom(ctx); user != nil {
		// The order belongs to the account, with its name and email of today.
		order.UserID, order.CustomerName, order.CustomerEmail = user.ID, user.Name, user.Email
	}
	id, created, err := s.db.CreateOrder(ctx, order)
	switch {
	case errors.Is(err, data.ErrNotFound):
		// The catalog changed under the cart; CreateOrder wrote nothing.
		s.clientError(w, r, http.StatusConflict,
			"An ingredient in your cart is no longer in the catalog: update your cart and check out again.")
		return
	case errors.Is(err, data.ErrKeyUsed):
		// An earlier checkout placed order id, its answer never arrived,
		// and the cart changed afterwards. The order is this session's:
		// only it knew the key. The cart is kept for the visitor to check.
		s.rememberOrder(ctx, id)
		s.clientError(w, r, http.StatusConflict, fmt.Sprintf(
			"Your earlier checkout went through: it placed order %d (see %s). Your cart has changed since, "+
				"so nothing more was ordered. Check your cart and check out again.", id, orderPath(id)))
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}

	s.rememberOrder(ctx, id)
	s.sessions.Put(ctx, keyChosenIngredients, cart.Cart{})
	flash := fmt.Sprintf("Thank you! Order %d is placed.", id)
	if !created {
		flash += " Your earlier try had placed it already: nothing was ordered twice."
	}
	s.redirect(w, r, orderPath(id), flash)
}

// checkoutFormUsed answers a checkout form that carries a key the session no
// longer holds. If that key placed one of the session's orders, the form was
// sent twice (the second time queued behind the first by the session lock,
// and so arriving with an empty cart): it leads to that order. Otherwise the
// form is out of date, from before a sign-out say, and orders nothing.
func (s *Server) checkoutFormUsed(w http.ResponseWriter, r *http.Request, key string) {
	ctx := r.Context()
	id, err := s.db.OrderIDByKey(ctx, key)
	switch {
	case err == nil && slices.Contains(s.orderIDs(ctx), id):
		s.redirect(w, r, orderPath(id), fmt.Sprintf("Thank you! Order %d is placed.", id))
	case err == nil || errors.Is(err, data.ErrNotFound):
		s.clientError(w, r, http.StatusConflict,
			"This checkout form is out of date, so nothing was ordered. Check your cart and check out again.")
	default:
		s.serverError(w, r, err)
	}
}

// checkoutKey returns the session's checkout key, making one if it has none.
//
// A cart can reach the session without a key: /session-example puts its
// cart directly, as the original does. A random key made at checkout would
// be lost with a save that fails, and the retry would make another one and
// order again; so a key made for a saved session is derived from what that
// session holds when it checks out: its token, its purchase count (which the
// order moves on) and the cart. A retry after a failed save holds the same,
// and derives the same key.
func (s *Server) checkoutKey(ctx context.Context) string {
	key := s.sessions.GetString(ctx, keyCheckoutKey)
	if key != "" {
		return key
	}
	key = rand.Text()
	if token := s.sessions.Token(ctx); token != "" {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%s",
			token, s.sessions.GetInt(ctx, keyPurchases), cartFingerprint(s.chosenIngredients(ctx))))
		key = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	s.sessions.Put(ctx, keyCheckoutKey, key)
	return key
}

// rememberOrder records in the session that it placed order id: one more
// purchase, the id among the last maxOrderIDs, and a new checkout key, so
// that the next cart makes an order of its own.
func (s *Server) rememberOrder(ctx context.Context, id int64) {
	s.sessions.Put(ctx, keyPurchases, s.sessions.GetInt(ctx, keyPurchases)+1)
	ids := append(slices.Clip(s.orderIDs(ctx)), id)
	if len(ids) > maxOrderIDs {
		ids = ids[len(ids)-maxOrderIDs:]
	}
	s.sessions.Put(ctx, keyOrderIDs, ids)
	s.sessions.Put(ctx, keyCheckoutKey, rand.Text())
}

// cartFingerprint writes down what the cart holds, such as "1x3,2x2"
// (ingredient 1 three times, ingredient 2 twice), by ingredient id, so that
// the same contents give the same text in whatever order they were added.
func cartFingerprint(c cart.Cart) string {
	items := slices.SortedFunc(slices.Values(c), func(a, b cart.Item) int { return cmp.Compare(a.ID, b.ID) })
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = strconv.FormatInt(it.ID, 10) + "x" + strconv.Itoa(it.Qty)
	}
	return strings.Join(parts, ",")
}

func orderPath(id int64) string { return fmt.Sprintf("/orders/%d", id) }

// handleOrderShow shows an order to the session that placed it and to
// every session signed in to the account it belongs to, and to no one
// else: to any other session it does not exist.
func (s *Server) handleOrderShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := cart.ParseID(chi.URLParam(r, "id"))
	placedHere := ok && slices.Contains(s.orderIDs(ctx), id)
	user := currentUserFrom(ctx)
	if !placedHere && (!ok || user == nil) {
		s.notFound(w, r)
		return
	}
	order, err := s.db.Order(ctx, id)
	if err != nil {
		s.notFoundOr(w, r, err)
		return
	}
	if !placedHere && order.UserID != user.ID {
		s.notFound(w, r)
		return
	}
	data := s.newTemplateData(r, fmt.Sprintf("Order %d", id))
	data.Order = order
	s.render(w, r, http.StatusOK, "order", data)
}
