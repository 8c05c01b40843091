// Feedback lines (parsing, bad lines counted), FP rates per rule and class,
// row labels from verdicts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ml/feedback.h"

using namespace spectre::ml;

TEST(Feedback, ParseCountsBadLinesAndRates) {
  FeedbackSet fb;
  parse_feedback(
      "{\"flow_id\":\"11\",\"sid\":9000001,\"gid\":9000,\"class\":\"c2\",\"verdict\":\"false_positive\",\"reason\":\"benign_app\"}\n"
      "{\"flow_id\":12,\"sid\":9000001,\"gid\":9000,\"class\":\"c2\",\"verdict\":\"true_positive\"}\n"
      "\n"
      "not json\n"
      "{\"flow_id\":\"13\",\"verdict\":\"maybe\"}\n"
      "{\"flow_id\":\"14\",\"sid\":2001,\"gid\":1,\"signature\":\"ET X\",\"verdict\":\"false_positive\"}\n"
      "{\"flow_id\":\"15\",\"sid\":9000001,\"gid\":9000,\"class\":\"c2\",\"label\":\"web\",\"verdict\":\"true_positive\"}\n"
      "[1,2]\n",
      fb);
  ASSERT_EQ(fb.items.size(), 4u);
  EXPECT_EQ(fb.bad_lines, 3u);
  ASSERT_EQ(fb.problems.size(), 3u);
  EXPECT_NE(fb.problems[0].find("line 4"), std::string::npos) << fb.problems[0];
  EXPECT_EQ(fb.items[1].flow_id, "12");  // numbers accepted
  auto j = nlohmann::json::parse(feedback_rates_json(fb));
  ASSERT_EQ(j["rules"].size(), 2u);
  // sorted by fp count (ties keep gid:sid order)
  EXPECT_EQ(j["rules"][0]["sid"], 2001);
  EXPECT_EQ(j["rules"][0]["fp_rate"], 1.0);
  EXPECT_EQ(j["rules"][1]["tp"], 2);
  EXPECT_EQ(j["rules"][1]["fp"], 1);
  EXPECT_NEAR(j["rules"][1]["fp_rate"].get<double>(), 1.0 / 3, 1e-12);
  ASSERT_EQ(j["classes"].size(), 1u);
  EXPECT_EQ(j["classes"][0]["class"], "c2");
  EXPECT_EQ(j["total"]["fp"], 2);
  EXPECT_EQ(j["bad_lines"], 3);
  auto labels = feedback_labels(fb, "benign");
  EXPECT_EQ(labels["11"], "benign");
  EXPECT_EQ(labels["12"], "c2");
  EXPECT_EQ(labels["15"], "web");  // the analyst's label over the model's class
  EXPECT_EQ(labels["14"], "benign");
}

TEST(Feedback, LaterVerdictWins) {
  FeedbackSet fb;
  parse_feedback("{\"flow_id\":\"1\",\"class\":\"a\",\"verdict\":\"true_positive\"}\n"
                 "{\"flow_id\":\"1\",\"class\":\"a\",\"verdict\":\"false_positive\"}\n"
                 "{\"flow_id\":\"2\",\"verdict\":\"true_positive\"}\n",  // no class: no label
                 fb);
  auto labels = feedback_labels(fb, "benign");
  EXPECT_EQ(labels.size(), 1u);
  EXPECT_EQ(labels["1"], "benign");
  std::string err;
  FeedbackSet none;
  EXPECT_FALSE(read_feedback("/nonexistent/fb.jsonl", none, err));
  EXPECT_NE(err.find("cannot read"), std::string::npos);
}
