"""papersbot core: fetch, store, rank, search and format papers, free of any chat platform."""
