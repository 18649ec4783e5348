package routing

import "cmp"

// Key names a tenant-scoped object.
type Key struct {
	Tenant string
	ID     string
}

// Compare orders keys by tenant, then id: -1, 0 or +1.
func (k Key) Compare(o Key) int {
	if c := cmp.Compare(k.Tenant, o.Tenant); c != 0 {
		return c
	}
	return cmp.Compare(k.ID, o.ID)
}
