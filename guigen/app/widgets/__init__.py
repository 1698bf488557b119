"""The app's own widgets: temperature dial, probability histogram, text view, piano roll."""
