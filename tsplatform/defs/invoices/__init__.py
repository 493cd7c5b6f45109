"""Invoice path: landing sensor -> validated, imputed, versioned ``invoice_data``."""
