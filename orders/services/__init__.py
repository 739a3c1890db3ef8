"""Order rules: placing an order exactly once, following it, refills, cancels and resolutions.

Nothing here calls a panel inside a database transaction, and nothing re-sends an `add` that may
have reached the panel: `ProviderOutcomeUnknown` always ends in `unconfirmed`, for a person.

The package is split by stage of an order's life; import each name from the module that defines
it (`orders.services.placing`, `orders.services.submitting`, …): this package re-exports nothing.
"""
