"""Exports a client can take away: a selection as PDF (plans, prices, addresses, срок сдачи, mortgage
estimate; Cyrillic fonts embedded) and as XLSX (every text cell inert). Between the pages and
`kontur.ui` in the layers: it uses `kontur.ui.safe`'s text and cell rules."""
