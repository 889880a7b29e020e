namespace MmCluster.Worker.Evaluation;

/// <summary>
/// Whether held-out rows can be scored zero-shot against a stage's class list: every row needs a label (a class index)
/// below the number of class names. A manifest without labels (img2dataset's) or classes that do not cover its labels
/// cannot be scored, and the worker says why instead of skipping in silence.
/// </summary>
public static class ZeroShotLabels
{
    /// <summary>
    /// Null when every row can be scored; otherwise why not, naming the first row that cannot (its key and label).
    /// A label below 0 is a row without one (the evaluation set's mark for a null label).
    /// </summary>
    public static string? WhyNotScored(IReadOnlyList<int> labels, IReadOnlyList<string> keys, IReadOnlyList<string> classes)
    {
        if (classes.Count == 0)
        {
            return "the stage has no class names (eval.zero_shot.classes or classes_file)";
        }
        for (var i = 0; i < labels.Count; i++)
        {
            var key = i < keys.Count ? keys[i] : $"test[{i}]";
            if (labels[i] < 0)
            {
                return $"held-out row '{key}' has no label (a webdataset sample without KEY.cls, or a null or missing label column); "
                    + "zero-shot needs every held-out row's class";
            }
            if (labels[i] >= classes.Count)
            {
                return $"held-out row '{key}' has label {labels[i]}, but the stage names {classes.Count} classes (labels 0 to {classes.Count - 1}: "
                    + $"{Preview(classes)}); set eval.zero_shot.classes or classes_file to the manifest's classes";
            }
        }
        return null;
    }

    private static string Preview(IReadOnlyList<string> classes) =>
        string.Join(", ", classes.Take(4)) + (classes.Count > 4 ? ", ..." : "");
}
