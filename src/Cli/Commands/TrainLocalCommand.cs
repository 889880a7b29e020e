using System.CommandLine;
using System.Globalization;
using MmCluster.Worker.Demo;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster train-local</c> (hidden): one process trains CLIP on Fashion-MNIST read from its IDX files and reports
/// zero-shot top-1 on the 10k test images with held-out templates; used to choose the demo's settings.
/// </summary>
internal static class TrainLocalCommand
{
    public static Command Create()
    {
        var defaults = new LocalTrainingSettings();
        var data = new Option<string>("--data") { Description = "Directory of the gzipped IDX files.", DefaultValueFactory = _ => defaults.DataDirectory };
        var model = new Option<string>("--model") { Description = "Model preset.", DefaultValueFactory = _ => defaults.Preset };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => defaults.WarmupSteps };
        var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => defaults.Steps };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads.", DefaultValueFactory = _ => defaults.Threads };
        var evalEvery = new Option<int>("--eval-every") { Description = "Zero-shot evaluation every N steps (0: at the end only).", DefaultValueFactory = _ => 0 };
        var command = new Command("train-local", "Train CLIP in this process on Fashion-MNIST IDX files and report zero-shot top-1.")
        {
            data, model, batch, lr, warmup, steps, threads, evalEvery,
        };
        command.Hidden = true;
        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var settings = new LocalTrainingSettings
            {
                DataDirectory = parseResult.GetValue(data)!, Preset = parseResult.GetValue(model)!, BatchSize = parseResult.GetValue(batch),
                LearningRate = parseResult.GetValue(lr), WarmupSteps = parseResult.GetValue(warmup), Steps = parseResult.GetValue(steps),
                Threads = parseResult.GetValue(threads), EvalEvery = parseResult.GetValue(evalEvery),
            };
            if (!File.Exists(Path.Combine(settings.DataDirectory, "train-images-idx3-ubyte.gz")))
            {
                parseResult.InvocationConfiguration.Error.WriteLine($"mmcluster train-local: no Fashion-MNIST IDX files in {settings.DataDirectory} (apt-get install dataset-fashion-mnist)");
                return 2;
            }
            var report = LocalClipTraining.Run(settings, output.WriteLine);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{settings.Preset} batch {settings.BatchSize} lr {settings.LearningRate} warm-up {settings.WarmupSteps}: {report.Steps} steps, {report.TrainSeconds:F0} s of training, final loss {report.FinalLoss:F3}, zero-shot top-1 {report.ZeroShotTop1:P1}"));
            return 0;
        });
        return command;
    }
}
