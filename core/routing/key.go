package routing

// Key names a tenant-scoped object.
type Key struct {
	Tenant string
	ID     string
}
