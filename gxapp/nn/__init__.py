"""What both papers' batched training shares.

optim           StackedAdam: Adam on stacked models (all-active and masked steps)
threads         torch_threads / resolve_threads (one lock-guarded limiter), blas_threads
memory          TrainingMemoryError and the context that turns allocation failures into it
early_stopping  EarlyStopping: per-model best validation loss, best epoch, patience
count           count_params: parameters counted from declared shapes
"""
