package httpapi

// dataRoutes is the data-plane route table: every route of every vault.
func dataRoutes() []route {
	return append(append(secretRoutes(), keyRoutes()...), certificateRoutes()...)
}
