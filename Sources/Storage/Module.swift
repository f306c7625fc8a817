// (module under construction)
