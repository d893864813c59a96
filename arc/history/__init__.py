"""The read side: KPIs now; call histories, flags and reports (issue 10). Nothing below imports it."""
