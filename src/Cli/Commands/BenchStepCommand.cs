using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster bench step --model clip-tiny --batch 256 --threads 1 [--json]</c>: the median wall time of one full
/// training step (forward, loss, backward, clipping, AdamW) on random data in this process. A Q-Former preset
/// (<c>--model blip2-tiny</c>) times BLIP-2 stage 1's step instead, over the frozen image encoder of <c>--vision</c> and
/// a caption vocabulary of <c>--vocab</c> ids.
/// </summary>
internal static class BenchStepCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Model preset: a CLIP one (" + string.Join(", ", ClipConfig.Presets.Keys) + "), or a Q-Former one for BLIP-2 stage 1's step ("
                + string.Join(", ", QFormerConfig.Presets.Keys) + ")",
            DefaultValueFactory = _ => "clip-tiny",
        };
        var vision = new Option<string>("--vision") { Description = "With a Q-Former preset: the CLIP preset of the frozen image encoder.", DefaultValueFactory = _ => "clip-mini" };
        var vocab = new Option<int>("--vocab") { Description = "With a Q-Former preset: ids in the caption vocabulary (a run's compact vocabulary).", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (torch.set_num_threads).", DefaultValueFactory = _ => 1 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured steps first.", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--steps") { Description = "Measured steps (the median is reported).", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var device = InferenceDeviceOption.Create(DeviceChoice.Cpu);
        var precision = new Option<string>("--precision") { Description = "fp32 or bf16-mixed (matrix products in bfloat16, float32 weights).", DefaultValueFactory = _ => "fp32" };
        var command = new Command("step", "Time one full training step (CLIP, or BLIP-2 stage 1: forward, loss, backward, AdamW) on random data.")
        {
            model, vision, vocab, batch, threads, warmup, steps, precision, device, json,
        };
        command.SetAction(parseResult => Run(
            parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, parseResult.GetValue(model)!, parseResult.GetValue(batch), parseResult.GetValue(threads),
            parseResult.GetValue(warmup), parseResult.GetValue(steps), parseResult.GetValue(precision)!, parseResult.GetValue(device)!, parseResult.GetValue(json),
            parseResult.GetValue(vision)!, parseResult.GetValue(vocab)));
        return command;
    }

    private static int Run(TextWriter output, TextWriter error, string preset, int batch, int threads, int warmup, int steps, string precision, string deviceName, bool json,
        string visionPreset = "clip-mini", int vocab = 100)
    {
        string device;
        try
        {
            device = DeviceChoice.Resolve(deviceName);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"mmcluster bench step: {e.Message}");
            return 2;
        }
        if (precision is not ("fp32" or "bf16-mixed"))
        {
            error.WriteLine($"mmcluster bench step: unknown --precision '{precision}'; known: fp32, bf16-mixed");
            return 2;
        }
        var qformer = QFormerConfig.Presets.GetValueOrDefault(preset);
        if (!ClipConfig.Presets.TryGetValue(qformer is null ? preset : visionPreset, out var config))
        {
            var (option, name) = qformer is null ? ("--model", preset) : ("--vision", visionPreset);
            var known = qformer is null ? ClipConfig.Presets.Keys.Concat(QFormerConfig.Presets.Keys) : ClipConfig.Presets.Keys;
            error.WriteLine($"mmcluster bench step: unknown {option} '{name}'; known: {string.Join(", ", known)}");
            return 2;
        }
        if (batch < 1 || threads < 1 || warmup < 0 || steps < 1 || qformer is not null && (batch < 2 || vocab < 2))
        {
            error.WriteLine("mmcluster bench step: --batch, --threads and --steps must be at least 1, --warmup at least 0 (a Q-Former preset: --batch and --vocab at least 2)");
            return 2;
        }
        TorchSharp.torch.set_num_threads(threads);
        var computeType = precision == "bf16-mixed" ? TorchSharp.torch.ScalarType.BFloat16 : (TorchSharp.torch.ScalarType?)null;
        var result = qformer is null
            ? StepBenchmark.Run(config, batch, warmup, steps, computeType: computeType, device: device)
            : StepBenchmark.RunBlip2Stage1(config, qformer, vocab, batch, warmup, steps, computeType: computeType, device: device);
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                model = preset,
                vision = qformer is null ? null : visionPreset,
                vocab = qformer is null ? (int?)null : vocab,
                batch,
                threads,
                precision,
                device,
                warmup_steps = warmup,
                measured_steps = steps,
                parameters = result.ParameterCount,
                ms_per_step_median = Math.Round(result.MedianMilliseconds, 2),
                samples_per_s = Math.Round(result.SamplesPerSecond, 1),
                cpu_ms_per_step_median = Math.Round(result.MedianCpuMilliseconds, 2),
                ms_per_step = result.StepMilliseconds.Select(t => Math.Round(t, 2)),
                last_loss = result.LastLoss,
                peak_rss_mb = PeakResidentMegabytes(),
            }));
        }
        else
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(qformer is null ? preset : $"BLIP-2 stage 1, {preset} over {visionPreset}, {vocab} caption ids")} ({precision}, {device}): batch {batch}, {threads} thread(s), {result.ParameterCount:N0} parameters: median {result.MedianMilliseconds:F1} ms/step over {steps} steps ({result.SamplesPerSecond:F1} samples/s; CPU {result.MedianCpuMilliseconds:F1} ms/step), last loss {result.LastLoss:F3}, peak resident memory {PeakResidentMegabytes()} MB"));
        }
        return 0;
    }

    /// <summary>The process's peak resident set (VmHWM), model, optimizer state and activations included, in MB.</summary>
    private static long PeakResidentMegabytes()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024 * 1024);
    }
}
