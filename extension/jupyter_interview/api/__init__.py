"""The HTTP surface every group shares: errors, request and response shapes, callers, the
base handler and the OpenAPI document built from it."""
