"""Paper sources: Hugging Face, arXiv and recorded snapshots, over one injected httpx client."""
