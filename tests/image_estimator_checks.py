"""scikit-learn's ``check_estimator`` on a detector of images: the checks that cannot apply.

``check_estimator`` feeds 2-D tables ``(n_samples, n_features)``; a detector of images rejects
them by contract (README, "Conventions") with a ValueError, so every check that fits on such
data fails for that reason alone. The image versions of these checks are each detector's own
tests. What still runs: cloning, get/set_params, repr, tags and the NotFittedError checks.
"""

IMAGES_ONLY = "fits on images (n, H, W[, C]); the check feeds a 2-D table, rejected by contract"

EXPECTED_FAILED_CHECKS = {
    name: IMAGES_ONLY
    for name in (
        "check_classifier_data_not_an_array",
        "check_complex_data",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
        "check_estimators_dtypes",
        "check_estimators_empty_data_messages",
        "check_estimators_fit_returns_self",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_outliers_fit_predict",
        "check_outliers_train",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
    )
}
