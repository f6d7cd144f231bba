"""The randomised evaluation of the lists: who is held out (`assignment`, `settings`), what
the follow-up shows (`estimates`), how it is published (`report`), and the estimators'
operating characteristics by simulation (`simulation`). Frames in, frames or file bytes
out; no paths, no MLflow."""
