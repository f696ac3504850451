// net/boot-arguments.h: the TFTP booting extension's device arguments, as GRUB passes them to open
// and reads them back from /chosen/bootpath.
#include "net/boot-arguments.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace {

using net::BootArgumentsError;
using net::Ipv4Address;

TEST(BootArgumentsTest, GrubsOpenArgumentsParseWithTheirOptionsSkipped) {
  // grub-core/net/drivers/ieee1275/ofnet.c's SUFFIX.
  auto parsed = net::ParseBootArguments(
      "speed=auto,duplex=auto,1.1.1.1,dummy,1.1.1.1,1.1.1.1,5,5,1.1.1.1,512");
  ASSERT_TRUE(parsed.is_ok());
  const net::BootArguments& a = parsed.value();
  EXPECT_FALSE(a.bootp);
  EXPECT_EQ(a.server, Ipv4Address::Of(1, 1, 1, 1));
  EXPECT_STREQ(a.file, "dummy");
  EXPECT_EQ(a.client, Ipv4Address::Of(1, 1, 1, 1));
  EXPECT_EQ(a.gateway, Ipv4Address::Of(1, 1, 1, 1));
  EXPECT_EQ(a.bootp_retries, 5u);
  EXPECT_EQ(a.tftp_retries, 5u);
  EXPECT_EQ(a.netmask, Ipv4Address::Of(1, 1, 1, 1));
  EXPECT_EQ(a.block_size, 512u);
}

TEST(BootArgumentsTest, EmptyAndPartialFieldsAndBootp) {
  auto none = net::ParseBootArguments("");
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none.value().server.IsZero());
  EXPECT_STREQ(none.value().file, "");
  auto some = net::ParseBootArguments("bootp,10.0.2.2,,10.0.2.15");
  ASSERT_TRUE(some.is_ok());
  EXPECT_TRUE(some.value().bootp);
  EXPECT_EQ(some.value().server, Ipv4Address::Of(10, 0, 2, 2));
  EXPECT_STREQ(some.value().file, "");
  EXPECT_EQ(some.value().client, Ipv4Address::Of(10, 0, 2, 15));
  EXPECT_TRUE(some.value().gateway.IsZero());
  EXPECT_EQ(some.value().block_size, 0u);
}

TEST(BootArgumentsTest, BadFieldsAreRefused) {
  EXPECT_EQ(net::ParseBootArguments("10.0.2").error(), BootArgumentsError::kBadAddress);
  EXPECT_EQ(net::ParseBootArguments("10.0.2.2,f,x.y.z.w").error(), BootArgumentsError::kBadAddress);
  EXPECT_EQ(net::ParseBootArguments("10.0.2.2,f,,,5,5,,65536").error(),
            BootArgumentsError::kBadNumber);
  EXPECT_EQ(net::ParseBootArguments("10.0.2.2,f,,,-1").error(), BootArgumentsError::kBadNumber);
  const std::string too_long = "10.0.2.2," + std::string(256, 'a');
  const std::string longest = "10.0.2.2," + std::string(255, 'a');
  EXPECT_EQ(net::ParseBootArguments({too_long.data(), too_long.size()}).error(),
            BootArgumentsError::kTooLong);
  EXPECT_TRUE(net::ParseBootArguments({longest.data(), longest.size()}).is_ok());
}

TEST(BootArgumentsTest, FormatWritesEveryFieldAndReadsBack) {
  net::BootArguments a;
  a.server = Ipv4Address::Of(192, 168, 1, 2);
  std::snprintf(a.file, sizeof(a.file), "%s", "pxe/core.elf");
  a.client = Ipv4Address::Of(192, 168, 1, 50);
  a.gateway = Ipv4Address::Of(192, 168, 1, 1);
  a.bootp_retries = 4;
  a.tftp_retries = 10;
  a.netmask = Ipv4Address::Of(255, 255, 0, 0);
  a.block_size = 1468;
  char out[128];
  ASSERT_TRUE(net::FormatBootArguments(a, out, sizeof(out)));
  EXPECT_STREQ(out, "192.168.1.2,pxe\\core.elf,192.168.1.50,192.168.1.1,4,10,255.255.0.0,1468");
  auto back = net::ParseBootArguments(out);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back.value().client, a.client);
  EXPECT_EQ(back.value().block_size, 1468u);
  char small[16];
  EXPECT_FALSE(net::FormatBootArguments(a, small, sizeof(small)));
  EXPECT_STREQ(small, "");
}

}  // namespace
