package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// ListOptions configure the list operations.
type ListOptions struct {
	// MaxResults is the page size sent as maxresults (the service allows
	// 1-25); 0 lets the service choose.
	MaxResults int32
}

// ListSecrets yields the secrets of the vault (GET /secrets), without values
// and with version-less ids, following nextLink page by page. Iteration
// stops after the first error, which is yielded.
func (c *SecretsClient) ListSecrets(ctx context.Context, opts *ListOptions) iter.Seq2[SecretItem, error] {
	return listAll[SecretItem](ctx, &c.vaultClient, []string{"secrets"}, opts)
}

// ListSecretVersions yields the versions of secret name
// (GET /secrets/{name}/versions), without values.
func (c *SecretsClient) ListSecretVersions(ctx context.Context, name string, opts *ListOptions) iter.Seq2[SecretItem, error] {
	return listAll[SecretItem](ctx, &c.vaultClient, []string{"secrets", name, "versions"}, opts)
}

// ListDeletedSecrets yields the soft-deleted secrets (GET /deletedsecrets).
func (c *SecretsClient) ListDeletedSecrets(ctx context.Context, opts *ListOptions) iter.Seq2[DeletedSecretItem, error] {
	return listAll[DeletedSecretItem](ctx, &c.vaultClient, []string{"deletedsecrets"}, opts)
}

type page[T any] struct {
	Value    []T     `json:"value"`
	NextLink *string `json:"nextLink"`
}

func listAll[T any](ctx context.Context, c *vaultClient, segs []string, opts *ListOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		q := url.Values{}
		if opts != nil && opts.MaxResults > 0 {
			q.Set("maxresults", strconv.Itoa(int(opts.MaxResults)))
		}
		err := validateSegments(segs)
		u := c.url(segs, q)
		for u != nil && err == nil {
			var p page[T]
			if err = c.send(ctx, http.MethodGet, u, nil, &p); err != nil {
				break
			}
			for _, v := range p.Value {
				if !yield(v, nil) {
					return
				}
			}
			u, err = c.nextPage(u, p.NextLink)
		}
		if err != nil {
			yield(zero, err)
		}
	}
}

// nextPage parses a page's nextLink (nil when there is none), adding the
// api-version if the link lacks it. A link to the page just read is an
// error, not an endless loop.
func (c *vaultClient) nextPage(cur *url.URL, link *string) (*url.URL, error) {
	if link == nil || *link == "" {
		return nil, nil
	}
	next, err := cur.Parse(*link)
	if err != nil {
		return nil, errors.New("invalid nextLink in list response")
	}
	if q := next.Query(); q.Get("api-version") == "" {
		q.Set("api-version", c.apiVersion)
		next.RawQuery = q.Encode()
	}
	if next.String() == cur.String() {
		return nil, errors.New("nextLink repeats the current page")
	}
	return next, nil
}
