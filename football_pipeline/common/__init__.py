"""One football vocabulary: competitions, seasons, canonical teams and match ids."""
